#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The signal number last received (0: none). Written only by the handler; an aligned Int32
/// store is atomic on every platform we run on, as `sig_atomic_t` is.
nonisolated(unsafe) private var pendingSignal: Int32 = 0

/// SIGTERM (what Slurm sends at a job's time limit, `--signal` and `scancel`) and SIGUSR1
/// (forwarded by `mpirun` to every rank) ask a training run to stop at the next step, write a
/// checkpoint and exit cleanly, so that `--resume` can continue it.
public enum StopSignals {
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in pendingSignal = signal }
        signal(SIGTERM, handler)
        signal(SIGUSR1, handler)
        // A blocked mask is inherited across fork and exec (test runners, some batch wrappers
        // block these): unblocked here, or the signals would never arrive at all.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGUSR1)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The pending signal on this rank, 0 if none.
    public static var pending: Int32 { pendingSignal }

    /// Forgets a received signal. A job never does (a stop is final); the in-process checks that
    /// raise one to stop a work queue do, so the checks after them run on.
    package static func clear() { pendingSignal = 0 }

    public static func name(_ signal: Int) -> String {
        switch Int32(signal) {
        case SIGTERM: "SIGTERM"
        case SIGUSR1: "SIGUSR1"
        default: "signal \(signal)"
        }
    }
}

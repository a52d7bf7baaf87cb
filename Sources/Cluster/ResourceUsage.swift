import CMPI
import Foundation

/// glibc serves blocks above 128 KiB (up to 32 MiB once it adapts) with fresh mmap pages and trims
/// the heap top as soon as 128 KiB are free, so every tile of the batched curvature products (a few
/// MiB of R-pass buffers, freed at the end of the tile) paid page faults and kernel page clearing
/// again and again: measured here, the 64-direction HVP of MLP 100-30-30-10 ran at 26 % of dgemm
/// with the defaults and 48 % with these thresholds (the same as `MALLOC_MMAP_THRESHOLD_` and
/// `MALLOC_TRIM_THRESHOLD_` in the environment). Blocks up to 64 MiB now come from the heap and up
/// to 256 MiB of freed heap is kept for reuse; the large matrices (H, the eigensolvers' work
/// arrays) are still mapped and returned on their own. Call once, first thing in `main`.
public func keepFreedMemoryForReuse() {
    landscape_set_malloc_thresholds(64 << 20, 256 << 20)
}

/// Peak resident memory of this process so far, in bytes (`getrusage`, `ru_maxrss` is in KiB on Linux).
public func peakResidentBytes() -> Int {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    return Int(usage.ru_maxrss) * 1024
}

/// Memory this node can still give out (`MemAvailable` in /proc/meminfo), in bytes; nil if unknown.
public func availableNodeMemory() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
    }
    return nil
}

/// A wall clock for phase timings.
public struct Stopwatch {
    private let start = DispatchTime.now().uptimeNanoseconds
    public init() {}
    public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

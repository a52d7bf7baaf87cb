import Testing
@testable import DistributedLinearAlgebra

/// The `auto` rule picks the method measured fastest for the job (docs/eigensolvers.md); these
/// pin its thresholds so a change to them is a deliberate one.
@Suite struct AutomaticEigensolverRule {
    func auto(_ selection: EigenvectorSelection, n: Int, block: Int = 64, grid: (Int, Int)) throws -> Eigensolver {
        try Eigensolver.resolve(.auto, selection: selection, n: n, blockSize: block,
                                grid: (rows: grid.0, columns: grid.1)).solver
    }

    /// One process, eigenvalues only: MRRR below 2000, LAPACK's two-stage driver from there —
    /// with or without ELPA.
    @Test func eigenvaluesOnlyOnOneProcess() throws {
        #expect(try auto(.none, n: 1999, grid: (1, 1)) == .scalapack(.pdsyevr))
        #expect(try auto(.none, n: 2000, grid: (1, 1)) == .twoStage)
        #expect(try auto(.none, n: 12000, grid: (1, 1)) == .twoStage)
        #expect(try Eigensolver.resolve(.auto, selection: .none, n: 3000, blockSize: 64, grid: (rows: 1, columns: 1)).note == nil)
    }

    @Test func eigenvaluesOnly() throws {
        try #require(ELPAEigensolver.isAvailable, "the rule is ELPA's; unset LANDSCAPE_DISABLE_ELPA")
        // Several processes: PDSYEV below 2000, ELPA 2-stage from there, on any grid shape.
        for grid in [(1, 2), (2, 1), (2, 2), (1, 3)] {
            #expect(try auto(.none, n: 1999, grid: grid) == .scalapack(.pdsyev))
            #expect(try auto(.none, n: 2000, grid: grid) == .elpa(.two))
            #expect(try auto(.none, n: 12000, grid: grid) == .elpa(.two))
        }
    }

    @Test func eigenvectors() throws {
        try #require(ELPAEigensolver.isAvailable, "the rule is ELPA's; unset LANDSCAPE_DISABLE_ELPA")
        for selection in [EigenvectorSelection.all, .top(5), .bottom(5)] {
            #expect(try auto(selection, n: 500, grid: (1, 2)) == .elpa(.one))
        }
        // A layout that leaves a process without a full block is ScaLAPACK's: PDSYEVR, since
        // PDSYEVD is unreliable with so few blocks.
        #expect(try auto(.all, n: 100, grid: (1, 2)) == .scalapack(.pdsyevr))
        #expect(try auto(.none, n: 100, grid: (1, 1)) == .scalapack(.pdsyevr))
    }
}

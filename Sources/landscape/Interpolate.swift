import ArgumentParser
import Cluster
import Jobs
import Configuration
import Geometry
import Workflows

struct Interpolate: TableCommand {
    static let table = "interpolate"
    static let configuration = CommandConfiguration(
        abstract: "The loss, accuracy and gradient norm along a line or over a plane through parameter space.",
        discussion: """
            A line between two points (--from A --to B: θ(α) = (1 − α)·A + α·B, α outside [0, 1] extends it), or from \
            --from along --direction (random, top-eigenvector or a file; --normalize filter|layer|none as Li et al.). \
            --plane: a grid θ₀ + α·d₁ + β·d₂ with two directions, or the plane through --from, --to and --through. \
            On the training data and, with data.held-out, the held-out data. --spectrum-at/--every: the top eigenvalues of H \
            and its exact index at points of a line. Rank groups (--group-size) take points in parallel. Writes line.csv or \
            plane.npy/plane.csv, SVG plots, summary.json (barrier height of the segment), timings.json. See docs/interpolate.md.

            The exact curvature assembles H on the squarest process grid of each group (hessian.block and hessian.assembly \
            from --config apply).
            """)

    @OptionGroup var options: RunOptions
    @Option(help: ArgumentHelp("The start point A (or θ₀): a params.npy.", valueName: "A.npy")) var from: String
    @Option(help: ArgumentHelp("The end point B of the line (or the plane's second point).", valueName: "B.npy")) var to: String?
    @Option(help: ArgumentHelp("With --plane: the third point C of the plane through A, B, C.", valueName: "C.npy")) var through: String?
    @Option(help: ArgumentHelp("Instead of --to: random, top-eigenvector, or an NPY file of M values (M × K: its first columns; a plane takes two).",
                               valueName: "d")) var direction: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("With --direction FILE.npy: its columns to use, 0-based (default: the first; `landscape spectrum --eigenvectors top:K` stores them ascending, so its top two are K-1,K-2). [interpolate.columns]",
                                                  valueName: "c[,c]")) var columns: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("filter, layer or none (default: filter for random directions, none otherwise). [interpolate.normalize]", valueName: "how"))
    var normalize: String?
    @Flag(help: "A plane (two directions, or the plane through --from, --to, --through) instead of a line.") var plane = false
    @Option(parsing: .unconditional, help: ArgumentHelp("The line's α grid start:end:count (default -0.5:1.5:41 between two points, -1:1:41 along a direction). [interpolate.range]",
                                                  valueName: "a:b:n")) var range: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("The plane's grid: start:end:count for both axes, or α-axis,β-axis (default -1:1:51; -0.5:1.5:51 through three points). [interpolate.grid]",
                                                  valueName: "a:b:n[,c:d:m]")) var grid: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Top eigenvalues and index of H at these α (comma-separated). [interpolate.spectrum-at]", valueName: "α,…"))
    var spectrumAt: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Or at every K-th grid point of the line. [interpolate.every]", valueName: "K")) var every: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("auto (exact up to M = \(InterpolateJob.exactLimit); default), exact, or lanczos (top eigenvalues only). [interpolate.curvature]", valueName: "how"))
    var curvature: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Eigenvalues reported at each curvature point. [top.k]", valueName: "k")) var k: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group (default). [interpolate.group-size]", valueName: "G")) var groupSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("node: each group on one host (default; G must divide the ranks on every host), or any: consecutive ranks, straddling hosts if they fall so. [interpolate.group-placement]", valueName: "where"))
    var groupPlacement: String?
    @Flag(help: "Allow grids of more than 10⁷ points.") var force = false
    @OptionGroup(title: "Configuration keys") var settings: RunKeyOptions

    /// (key, text) of the `[interpolate]` flags given, and --k (top.k: the eigenvalues at each curvature point).
    var tableOverrides: [(key: String, text: String)] {
        keyFlags([("interpolate.columns", columns), ("interpolate.normalize", normalize), ("interpolate.range", range),
                  ("interpolate.grid", grid), ("interpolate.spectrum-at", spectrumAt), ("interpolate.every", every),
                  ("interpolate.curvature", curvature), ("interpolate.group-size", groupSize), ("interpolate.group-placement", groupPlacement), ("top.k", k)])
    }

    func validate() throws {
        try validateKeyFlags(tableOverrides)
        _ = try shape()
    }

    /// The section the flags describe; every combination error is a ValidationError here.
    func shape() throws -> InterpolateJob.Shape {
        let source: InterpolateJob.DirectionSource? = direction.map {
            switch $0 {
            case "random": .random
            case "top-eigenvector", "top-eigenvectors": .topEigenvectors
            default: .file($0)
            }
        }
        if plane {
            switch (to, through, source) {
            case (let b?, let c?, nil): return .planeThrough(from, b, c)
            case (nil, nil, let d?): return .plane(from: from, d)
            default:
                throw ValidationError("--plane needs either --to B.npy --through C.npy (the plane through three points) or --direction (two directions from --from)")
            }
        }
        guard through == nil else { throw ValidationError("--through makes a plane: add --plane") }
        switch (to, source) {
        case (let b?, nil): return .segment(from: from, to: b)
        case (nil, let d?): return .line(from: from, d)
        default: throw ValidationError("give exactly one of --to B.npy (the line from A to B) or --direction (a line from --from)")
        }
    }

    func run(on runtime: MPIRuntime) throws {
        var job = InterpolateJob(configuration: try configuration(on: runtime), shape: try shape(), output: options.output)
        try options.apply(to: &job)
        job.force = force
        try job.run(on: runtime.world)
    }
}

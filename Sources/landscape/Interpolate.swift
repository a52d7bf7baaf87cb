import ArgumentParser
import Cluster
import Jobs
import Configuration
import Geometry
import Workflows

struct Interpolate: MPICommand {
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
    @Option(help: ArgumentHelp("With --direction FILE.npy: its columns to use, 0-based (default: the first; `landscape spectrum --eigenvectors top:K` stores them ascending, so its top two are K-1,K-2).",
                               valueName: "c[,c]")) var columns: String?
    @Option(help: ArgumentHelp("filter, layer or none (default: filter for random directions, none otherwise).", valueName: "how")) var normalize: String?
    @Flag(help: "A plane (two directions, or the plane through --from, --to, --through) instead of a line.") var plane = false
    @Option(parsing: .unconditional, help: ArgumentHelp("The line's α grid start:end:count (default -0.5:1.5:41 between two points, -1:1:41 along a direction).",
                               valueName: "a:b:n")) var range: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Top eigenvalues and index of H at these α (comma-separated).", valueName: "α,…")) var spectrumAt: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Or at every K-th grid point of the line.", valueName: "K")) var every: Int?
    @Option(help: ArgumentHelp("auto (exact up to M = \(InterpolateJob.exactLimit)), exact, or lanczos (top eigenvalues only).", valueName: "how"))
    var curvature = "auto"
    @Option(parsing: .unconditional, help: ArgumentHelp("Eigenvalues reported at each curvature point. [top.k]", valueName: "k")) var k: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group.", valueName: "G")) var groupSize = 0
    @Flag(help: "Allow grids of more than 10⁷ points.") var force = false
    @Option(parsing: .unconditional, help: ArgumentHelp("The plane's grid: start:end:count for both axes, or α-axis,β-axis (default -1:1:51; -0.5:1.5:51 through three points).",
                               valueName: "a:b:n[,c:d:m]")) var grid: String?
    @OptionGroup(title: "Configuration keys") var settings: RunKeyOptions

    func displayName(ofSetting setting: String) -> String? {
        setting == "top.k" ? "--k" : settings.displayName(ofSetting: setting)
    }

    var ownOverrides: [(key: String, text: String)] { k.map { [(key: "top.k", text: $0)] } ?? [] }

    func validate() throws {
        _ = try job(configuration: RunConfiguration())
        var scratch = RunConfiguration()
        for (key, text) in ownOverrides { _ = try validated { try scratch.override(key, text: text) } }
    }

    /// The job the flags describe; every combination and format error is a ValidationError here.
    func job(configuration: RunConfiguration) throws -> InterpolateJob {
        func axis(_ text: String, _ flag: String) throws -> GridAxis {
            do { return try GridAxis(parsing: text) } catch { throw ValidationError("\(flag) \(error.message)") }
        }
        let source: InterpolateJob.DirectionSource? = direction.map {
            switch $0 {
            case "random": .random
            case "top-eigenvector", "top-eigenvectors": .topEigenvectors
            default: .file($0)
            }
        }
        let shape: InterpolateJob.Shape
        var axes: [GridAxis]
        if plane {
            guard range == nil else { throw ValidationError("--range is for lines; a plane takes --grid a:b:n[,c:d:m]") }
            switch (to, through, source) {
            case (let b?, let c?, nil): shape = .planeThrough(from, b, c)
            case (nil, nil, let d?): shape = .plane(from: from, d)
            default:
                throw ValidationError("--plane needs either --to B.npy --through C.npy (the plane through three points) or --direction (two directions from --from)")
            }
            let parts = (grid ?? (to == nil ? "-1:1:51" : "-0.5:1.5:51")).split(separator: ",").map(String.init)
            guard parts.count == 1 || parts.count == 2 else { throw ValidationError("--grid '\(grid ?? "")' is not a:b:n or a:b:n,c:d:m") }
            axes = try parts.map { try axis($0, "--grid") }
        } else {
            guard grid == nil else { throw ValidationError("--grid is for planes (with --plane); a line takes --range a:b:n") }
            guard through == nil else { throw ValidationError("--through makes a plane: add --plane") }
            switch (to, source) {
            case (let b?, nil): shape = .segment(from: from, to: b)
            case (nil, let d?): shape = .line(from: from, d)
            default: throw ValidationError("give exactly one of --to B.npy (the line from A to B) or --direction (a line from --from)")
            }
            axes = [try axis(range ?? (to == nil ? "-1:1:41" : "-0.5:1.5:41"), "--range")]
        }
        if normalize != nil, case .segment = shape { throw ValidationError("--normalize applies to directions; a line between two points is not rescaled") }
        if normalize != nil, case .planeThrough = shape { throw ValidationError("--normalize applies to directions; the plane through three points is not rescaled") }
        var job = InterpolateJob(configuration: configuration, shape: shape, axes: axes, output: options.output)
        if let columns {
            guard case .file = source else { throw ValidationError("--columns selects columns of a --direction FILE.npy") }
            let list = columns.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty, list.allSatisfy({ $0 != nil }) else { throw ValidationError("--columns '\(columns)' is not a list of column numbers such as 0,1") }
            job.directionColumns = list.map { $0! }
        }
        if let normalize {
            guard let n = DirectionNormalization(rawValue: normalize) else { throw ValidationError("--normalize '\(normalize)': use filter, layer or none") }
            job.normalization = n
        }
        switch (spectrumAt, every) {
        case (nil, nil): break
        case (let list?, nil):
            let values = list.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw ValidationError("--spectrum-at '\(list)' is not a comma-separated list of numbers (e.g. 0,0.5,1)")
            }
            job.curvatureSites = .alphas(values.map { $0! })
        case (nil, let k?):
            guard k >= 1 else { throw ValidationError("--every \(k): give a step of at least 1 grid point") }
            job.curvatureSites = .every(k)
        default: throw ValidationError("give at most one of --spectrum-at and --every")
        }
        guard let method = InterpolateJob.CurvatureMethod(rawValue: curvature) else {
            throw ValidationError("--curvature '\(curvature)': use auto, exact or lanczos")
        }
        job.curvatureMethod = method
        guard groupSize >= 0 else { throw ValidationError("--group-size \(groupSize): give 0 (one group) or a divisor of the number of ranks") }
        job.groupSize = groupSize
        try options.apply(to: &job)
        job.force = force
        return job
    }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try options.configuration(overrides: settings.overrides + ownOverrides, on: runtime)
        try job(configuration: configuration).run(on: runtime.world)
    }
}

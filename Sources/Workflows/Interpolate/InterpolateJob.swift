import Cluster
import Configuration
import Jobs
import Curvature
import Datasets
import Foundation
import Geometry
import Networks
import NPY
import Objectives
import Optimization
import Planning
import Support

/// `landscape interpolate`: the loss, accuracy and gradient norm along a line or over a plane
/// through parameter space (GEOMETRY.md §1, docs/interpolate.md), and optionally the curvature
/// (top eigenvalues, exact index) at chosen points of a line.
///
/// Points are independent: rank groups of `groupSize` ranks take them in rounds, data-parallel
/// inside a group; after each round world rank 0 collects the finished points and checkpoints
/// them, so a stopped or killed run resumes without recomputing a finished point. Every point's
/// θ is a function of the inputs alone, so the results do not depend on the rank count or the
/// grouping beyond the rounding of the data-parallel sums.
public struct InterpolateJob {
    /// Where the section's directions come from.
    public enum DirectionSource: Sendable, Equatable {
        /// d ~ N(0, I) from the run's seed (filter-normalised unless told otherwise).
        case random
        /// The top eigenvector(s) of H at --from, by Lanczos.
        case topEigenvectors
        /// An NPY file: a vector of M values (a line), or an M × K array whose first columns are
        /// taken (eigenvectors.npy of `landscape top` or `spectrum --eigenvectors`).
        case file(String)

        var rendered: String {
            switch self {
            case .random: "random"
            case .topEigenvectors: "top-eigenvector"
            case .file(let path): "file \(path)"
            }
        }
    }

    public enum Shape: Sendable, Equatable {
        /// θ(α) = (1 − α)·A + α·B.
        case segment(from: String, to: String)
        /// θ(α) = θ₀ + α·d.
        case line(from: String, DirectionSource)
        /// θ(α, β) = θ₀ + α·d₁ + β·d₂.
        case plane(from: String, DirectionSource)
        /// The plane through A, B and C: A = (0, 0), B = (1, 0).
        case planeThrough(String, String, String)

        package var dimension: Int {
            switch self {
            case .segment, .line: 1
            case .plane, .planeThrough: 2
            }
        }

        /// Through given points only (a segment, a three-point plane): no direction to rescale.
        var throughPoints: Bool {
            switch self {
            case .segment, .planeThrough: true
            case .line, .plane: false
            }
        }

        /// Its directions are read from an NPY file.
        var directionFile: Bool {
            switch self {
            case .line(_, .file), .plane(_, .file): true
            default: false
            }
        }

        /// The section as the user gave it, in words (for the checkpoint's identity).
        var rendered: String {
            switch self {
            case .segment(let a, let b): "segment \(a) to \(b)"
            case .line(let a, let d): "line from \(a) along \(d.rendered)"
            case .plane(let a, let d): "plane at \(a) along \(d.rendered)"
            case .planeThrough(let a, let b, let c): "plane through \(a), \(b), \(c)"
            }
        }
    }

    /// Where along a line the curvature is computed.
    public enum CurvatureSites: Sendable, Equatable {
        case none
        case alphas([Double])
        /// Every K-th grid point (indices 0, K, 2K, …).
        case every(Int)
    }

    public typealias CurvatureMethod = Curvature.CurvatureMethod

    /// M up to which `auto` takes the curvature exactly (`CurvatureMethod.exactLimit`).
    public static var exactLimit: Int { CurvatureMethod.exactLimit }
    /// Grids above this many points need `force`.
    public static let pointLimit = 10_000_000

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    public var shape: Shape
    /// The configuration's `[interpolate]` settings: the grid, the directions' scaling and
    /// columns, the curvature sites and method, the group size.
    public var settings: InterpolateSpecification {
        get { configuration.interpolate }
        set { configuration.interpolate = newValue }
    }
    var curvatureMethod: CurvatureMethod { settings.curvature }
    var groupSize: Int { settings.groupSize }
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var resume = false
    public var force = false
    public var quiet = false

    public init(configuration: RunConfiguration, shape: Shape, output: RunDirectory) {
        self.configuration = configuration
        self.shape = shape
        self.output = output
    }

    /// Where along the line the curvature is taken (`interpolate.spectrum-at` or `.every`).
    var curvatureSites: CurvatureSites {
        if let alphas = settings.spectrumAt { return .alphas(alphas) }
        if let k = settings.every { return .every(k) }
        return .none
    }

    /// The grid's axes — one for a line, (α, β) for a plane — after the refusals of settings that
    /// do not fit the section's shape.
    func axes() throws -> [GridAxis] {
        if settings.columns != nil, !shape.directionFile {
            throw InputError(setting: "interpolate.columns", "selects columns of a --direction FILE.npy; drop it, or give the direction as a file")
        }
        if settings.normalize != nil, shape.throughPoints {
            throw InputError(setting: "interpolate.normalize",
                             "applies to directions; \(shape.dimension == 1 ? "a line between two points" : "the plane through three points") is not rescaled")
        }
        if shape.dimension == 1 {
            if settings.grid != nil {
                throw InputError(setting: "interpolate.grid", "is for planes (--plane); a line takes interpolate.range (--range a:b:n)")
            }
            return [try settings.lineAxis(betweenPoints: shape.throughPoints)]
        }
        if settings.range != nil {
            throw InputError(setting: "interpolate.range", "is for lines; a plane takes interpolate.grid (--grid a:b:n[,c:d:m])")
        }
        if curvatureSites != .none {
            throw InputError(setting: settings.every != nil ? "interpolate.every" : "interpolate.spectrum-at",
                             "applies to lines; drop it with --plane (or interpolate the line you want)")
        }
        return try settings.planeAxes(throughPoints: shape.throughPoints)
    }

    /// The measurements at one point (means over the samples, reduced over the group).
    package struct PointRecord: Codable, Equatable {
        package var index: Int
        package var coordinates: [Double]
        package var loss: Double
        package var accuracy: Double?
        package var gradientNorm: Double?
        package var heldOutLoss: Double?
        package var heldOutAccuracy: Double?
    }

    /// The curvature at one point of a line.
    package struct CurvatureRecord: Codable, Equatable {
        package var index: Int
        package var alpha: Double
        package var method: String
        /// Largest first.
        package var topEigenvalues: [Double]
        /// The index: the fraction of eigenvalues below −tolerance (exact only).
        package var negativeFraction: Double?
        package var negative: Int?
        package var smallestEigenvalue: Double?
        /// Lanczos only: how many of the top eigenvalues met the tolerance within top.max-matvecs.
        package var converged: Int?
    }

    /// What a run has finished: its checkpoint's payload.
    package struct FinishedPoints: Codable {
        package var points: [PointRecord] = []
        package var curvature: [CurvatureRecord] = []
    }

    package static let checkpointFile = ResumableCheckpoint<FinishedPoints>(file: "points.json", what: "points")
    package var checkpoint: RunDirectory { output.subdirectory("checkpoint") }

    /// Everything a round of points needs, once the inputs are checked.
    package struct Context: GroupedRunContext {
        /// The job's run: world, progress, timings, the run header.
        package var run: JobRun
        package let groups: RankGroups
        package let training: DataParallelObjective
        package let heldOut: DataParallelObjective?
        package let model: any Model
        package let section: AffineSection
        /// Plane coordinates of the named points (A, B, C; θ₀ for a direction plane).
        package let marks: [(label: String, coordinates: [Double])]
        /// One axis for a line, (α, β) for a plane.
        package let axes: [GridAxis]
        package let grid: [[Double]]
        package let curvatureAlphas: [Double]
        package let curvatureExact: Bool
        package let budget: Int
        package let identity: String
        package let description: String
    }

    public func run(on world: Communicator) throws {
        try JobRun.perform("interpolate", configuration: configuration, model: model, output: output, resuming: resume,
                           quiet: quiet, on: world) { run in
            var context = try prepare(run)
            defer { context.groups.free() }
            try context.run.own { try output.refuseFinishedRun(resuming: resume) }
            try compute(&context)
        }
    }

    /// Inputs, groups, data, the section and its grid; every refusal before any work.
    package func prepare(_ run: JobRun) throws -> Context {
        var run = run
        let (world, progress) = (run.world, run.progress)
        let axes2 = try axes()
        let (total, overflow) = axes2.count == 2 ? axes2[0].count.multipliedReportingOverflow(by: axes2[1].count) : (axes2[0].count, false)
        if overflow { throw InputError("the grid has more than 2⁶³ points; use fewer points per axis") }
        if total > Self.pointLimit && !force {
            throw InputError("the grid has \(total) points (> \(Self.pointLimit)); use fewer points per axis, or --force if you mean it")
        }
        if shape.dimension == 2, let thin = axes2.firstIndex(where: { $0.count < 2 }) {
            throw InputError("the plane's \(thin == 0 ? "α" : "β") axis has one point: that is a line; give each axis at least 2 points (or interpolate the line)")
        }
        if case .every(let k) = curvatureSites, k >= axes2[0].count {
            throw InputError(setting: "interpolate.every", "= \(k) reaches only α = \(axes2[0].start) on a grid of \(axes2[0].count) points; give a step below \(axes2[0].count) (or interpolate.spectrum-at)")
        }
        // The smallest budget over the ranks, so that every rank reaches the same verdict.
        let budget = try MemoryPlan.agreedBudget(memoryPerRank, on: world)
        // Every grid point is held from the start (its coordinates, then its record and CSV line).
        try MemoryPlan.requireFits(total, setting: shape.dimension == 1 ? "interpolate.range" : "interpolate.grid",
                                   value: "= " + (shape.dimension == 1 ? axes2[0].description : axes2.map(\.description).joined(separator: ",")), holding: "its \(total) grid points",
                                   bytesEach: 320 + 8 * Double(shape.dimension), budget: budget)
        let groups = try RankGroups.split(world, size: groupSize, setting: "interpolate.group-size", placement: settings.groupPlacement)
        groups.announce(on: progress)
        let group = groups.group
        do {
            let inputs = try run.inputs(configuration, given: model, on: group)
            let (split, model, m) = (inputs.split, inputs.model, inputs.m)
            let training = DataParallelObjective(model: model, dataset: split.training, communicator: group)
            let heldOut = split.heldOut.map { DataParallelObjective(model: model, dataset: $0, communicator: group) }
            let (section, marks, what) = try makeSection(inputs, training: training, on: world, progress: progress)
            run.header.point = what
            let grid: [[Double]] = axes2.count == 1 ? axes2[0].values.map { [$0] }
                : axes2[1].values.flatMap { β in axes2[0].values.map { α in [α, β] } }
            var alphas: [Double] = []
            switch curvatureSites {
            case .none: break
            case .alphas(let list): alphas = list
            case .every(let k): alphas = stride(from: 0, to: grid.count, by: k).map { grid[$0][0] }
            }
            let exact = curvatureMethod.isExact(dimension: m)
            if !alphas.isEmpty {
                // top.k ≥ M is no error: each site reports all M eigenvalues (Lanczos exhausts the space).
                try checkCurvatureMemory(exact: exact, m: m, groupSize: group.size, budget: budget)
            }
            // A run is the same run only with the same inputs: the configuration, the section and the
            // bits of every vector that defines it (files may change under the same name).
            let identity = self.identity(section: section, axes: axes2, alphas: alphas)
            return Context(run: run, groups: groups, training: training, heldOut: heldOut, model: model, section: section, marks: marks,
                           axes: axes2, grid: grid, curvatureAlphas: alphas, curvatureExact: exact, budget: budget, identity: identity,
                           description: what)
        } catch {
            groups.free()
            throw error
        }
    }

    /// The identity of the run in its checkpoint: the configuration's keys as rendered (the group
    /// size and placement aside), a library caller's model, the section as the user gave it (which points and
    /// direction files), what it resolved to (axes, normalisation, curvature sites), and a digest of
    /// the bits of every vector that defines it (files may change under the same name).
    func identity(section: AffineSection, axes: [GridAxis], alphas: [Double]) -> String {
        var identity = SettingsIdentity(run: configuration, model: model, ignoring: ["interpolate.group-size", "interpolate.group-placement"], [
            "section": shape.rendered, "section.axes": axes.map(\.description).joined(separator: ","),
            "section.normalization": normalizationUsed.rawValue, "section.curvature-alphas": alphas.map { "\($0)" }.joined(separator: ",")])
        identity.depend(on: "the section's vectors", digest: section.fingerprint)
        return identity.text
    }

    package var normalizationUsed: DirectionNormalization {
        if let normalization = settings.normalize { return normalization }
        switch shape {
        case .line(_, .random), .plane(_, .random): return .filter
        default: return .none
        }
    }

    /// The section through parameter space, the points to mark on its plot, and a description.
    package func makeSection(_ inputs: JobInputs, training: DataParallelObjective, on world: Communicator,
                     progress: JobProgress) throws -> (AffineSection, [(label: String, coordinates: [Double])], String) {
        let model = inputs.model
        func read(_ path: String, _ flag: String) throws -> [Double] {
            try inputs.readParameters(path, on: world, flag: flag)
        }
        switch shape {
        case .segment(let from, let to):
            let a = try read(from, "--from"), b = try read(to, "--to")
            return (.segment(a, b), [("A", [0]), ("B", [1])], "the line (1 − α)·A + α·B, A = \(from), B = \(to)")
        case .line(let from, let source):
            let θ = try read(from, "--from")
            let d = try directions(source, count: 1, at: θ, model: model, training: training, on: world, progress: progress)
            return (.directions(origin: θ, d), [("θ₀", [0])], "the line θ₀ + α·d, θ₀ = \(from), d: \(describe(source)), \(normalizationUsed.rawValue)-normalised")
        case .plane(let from, let source):
            let θ = try read(from, "--from")
            let d = try directions(source, count: 2, at: θ, model: model, training: training, on: world, progress: progress)
            return (.directions(origin: θ, d), [("θ₀", [0, 0])], "the plane θ₀ + α·d₁ + β·d₂, θ₀ = \(from), d₁, d₂: \(describe(source)), \(normalizationUsed.rawValue)-normalised")
        case .planeThrough(let pa, let pb, let pc):
            let a = try read(pa, "--from"), b = try read(pb, "--to"), c = try read(pc, "--through")
            guard let plane = PlaneThroughPoints(a, b, c) else {
                throw InputError("--from, --to and --through are collinear (or two of them coincide): they span no plane; give three points not on one line")
            }
            return (plane.section, [("A", [plane.a.0, plane.a.1]), ("B", [plane.b.0, plane.b.1]), ("C", [plane.c.0, plane.c.1])],
                    "the plane through A = \(pa), B = \(pb), C = \(pc) (A = (0, 0), B = (1, 0), d₂ ⟂ d₁, ‖d₂‖ = ‖d₁‖)")
        }
    }

    package func describe(_ source: DirectionSource) -> String {
        switch source {
        case .random: "random N(0, I) (seed \(configuration.seed))"
        case .topEigenvectors: "top eigenvector(s) of H at θ₀ (Lanczos)"
        case .file(let path): path
        }
    }

    /// `count` directions, normalised to θ.
    package func directions(_ source: DirectionSource, count: Int, at θ: [Double], model: any Model,
                    training: DataParallelObjective, on world: Communicator, progress: JobProgress) throws -> [[Double]] {
        let m = model.parameterCount
        var raw: [[Double]]
        switch source {
        case .random:
            raw = (0..<count).map { RandomDirection.gaussian(count: m, seed: configuration.seed, index: $0) }
        case .file(let path):
            raw = try readDirections(path, count: count, m: m, on: world)
        case .topEigenvectors:
            raw = try topEigenvectors(count, at: θ, model: model, training: training, on: world, progress: progress)
        }
        let normalized = raw.map { normalizationUsed.apply($0, like: θ, blocks: model.parameterBlocks) }
        if let j = normalized.firstIndex(where: { d in !d.contains { $0 != 0 } }) {
            throw InputError("direction \(j + 1) is zero after \(normalizationUsed.rawValue) normalisation (is θ₀ zero there?); use --normalize none or another direction")
        }
        if normalized.count == 2 {
            // Two parallel directions span a line, not a plane (the three-point case is refused likewise).
            let (a, b) = (normalized[0], normalized[1])
            let ab = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }, aa = a.reduce(0) { $0 + $1 * $1 }, bb = b.reduce(0) { $0 + $1 * $1 }
            if abs(ab) >= (1 - 1e-10) * (aa * bb).squareRoot() {
                throw InputError("the two directions are parallel: they span a line, not a plane; give two independent directions (other --columns)")
            }
        }
        return normalized
    }

    /// Columns of an M-vector or M × K file, in C order (`landscape top`: row i holds entry i of
    /// every column) or Fortran order (`landscape spectrum --eigenvectors`: column after column).
    package func readDirections(_ path: String, count: Int, m: Int, on world: Communicator) throws -> [[Double]] {
        let wanted = settings.columns ?? Array(0..<count)
        guard wanted.count == count else {
            throw InputError("--columns gives \(wanted.count) column(s) but \(count == 1 ? "a line" : "a plane") needs \(count)")
        }
        let shape = try world.agree { () throws -> [Int] in
            guard FileManager.default.fileExists(atPath: path) else {
                throw InputError("--direction '\(path)': no such file; give random, top-eigenvector, or an NPY file of M values (or M × K)")
            }
            let header: NPYHeader
            do { header = try NPYHeader.read(contentsOf: path) } catch let error as NPYError { throw InputError("--direction '\(path)': \(error.message)") }
            guard header.dataType.isFloatingPoint else { throw InputError("--direction '\(path)' has dtype \(header.dataType); directions must be float64") }
            let columns = header.shape.count == 2 ? header.shape[1] : 1
            guard header.shape.count <= 2, header.shape.first == m else {
                throw InputError("--direction '\(path)' has shape \(header.shape); it must be (\(m),) or (\(m), K) for this model's M = \(m)")
            }
            guard columns >= count else {
                throw InputError("--direction '\(path)' has \(columns) column(s) but a plane needs 2 (an M × K eigenvectors.npy with K ≥ 2)")
            }
            if let bad = wanted.first(where: { $0 < 0 || $0 >= columns }) {
                throw InputError("--columns \(bad) is not a column of '\(path)' (it has \(columns), numbered from 0)")
            }
            return header.shape
        }
        let values = try NPYArray(contentsOf: path).values
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw InputError("--direction '\(path)': entry \(i) is \(values[i]); a direction must be finite")
        }
        let k = shape.count == 2 ? shape[1] : 1
        // NPYArray hands Fortran-order files over in C order too.
        return wanted.map { j in (0..<m).map { values[$0 * k + j] } }
    }
}

extension AffineSection {
    /// A digest of the defining vectors' bits, for the checkpoint's identity.
    package var fingerprint: String {
        switch form {
        case .segment(let a, let b): bitDigest(a, b)
        case .directions(let o, let d): bitDigest(([o] + d).flatMap { $0 })
        }
    }
}

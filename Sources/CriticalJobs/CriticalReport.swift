import Jobs
import CriticalPoints
import Foundation
import NPY
import Reporting
import Support

extension CriticalJob {
    /// summary.json: the run in numbers, with Pennington & Bahri's quantities.
    package struct Summary: Codable {
        package var command = "critical"
        package var method: String
        package var start: String
        package var curvature: String
        package var starts: Int
        package var converged: Int
        /// Certified critical points (GEOMETRY.md §6b), those not duplicating an earlier one, and
        /// every end's class (`EndClass`) counted.
        package var certified: Int
        package var certifiedDistinct: Int
        package var classes: [String: Int]
        /// eigenvector-following's target index; the L2 weight of the energy.
        package var targetIndex: Int?
        package var l2: Double
        /// Converged and not a duplicate of an earlier start.
        package var distinct: Int
        package var minima: Int
        package var saddles: Int
        /// M, N and the outputs k; φ = M / (N·k), the paper's ratio of parameters to data.
        package var parameters: Int
        package var samples: Int
        package var outputs: Int
        package var phi: Double
        /// ½(1 − φ)² for φ < 1 (0 beyond): the paper's conjectured energy of the minimisers on a
        /// memorisation task, beside the lowest minimum found.
        package var memorizationEnergy: Double
        package var lowestMinimumEnergy: Double?
        package var tolerance: Double
        /// α = α₀|(ε − ε_c)/ε_c|^p over the distinct saddles with an exact index (nil with fewer than 4).
        package var fit: IndexEnergyFit?
        /// The same fit over the distinct certified saddles only.
        package var certifiedFit: IndexEnergyFit?
        /// Unconverged searches that ended within `nearCriticalTolerance` of their start's ‖∇L‖,
        /// and the same fit over them (with an exact index) — labelled apart: not critical points.
        package var nearCritical: Int
        package var nearCriticalFit: IndexEnergyFit?
        /// The median over converged starts of `Certificate.order` (the largest log(gₖ/gₖ₋₁)/log(gₖ₋₁/gₖ₋₂)
        /// over the last three triples above the rounding floor): 2 for quadratic convergence.
        package var convergenceOrder: Double?
        package var secondsPerCriticalPoint: Double?
        package var hessianAssembliesPerStart: Double
        package var operatorProductsPerStart: Double
        package var gradientEvaluationsPerStart: Double
        package var seconds: Double
        package var line: String
    }

    /// critical.csv, trace.csv, the plots, report.md and summary.json (world rank 0).
    package func report(_ input: [PointRecord], _ context: Context) throws -> Summary {
        let m = context.m, n = context.training.dataset.globalCount, k = context.training.dataset.outputDimension
        var results = input
        let spectra: [Int: [Double]] = Dictionary(uniqueKeysWithValues: try results.filter { $0.converged && $0.curvature == "exact" }.map {
            ($0.start, try NPYArray(contentsOf: output.file("spectra/\($0.start).npy")).values)
        })
        markDuplicates(&results, spectra: spectra)
        let distinct = results.filter { $0.converged && $0.duplicateOf == nil }
        let exactIndex = distinct.filter(\.indexExact)
        let fit = IndexEnergyFit(energies: exactIndex.map(\.loss), indices: exactIndex.map { Double($0.negative) / Double(m) })
        let near = results.filter { !$0.converged && $0.gradientNorm <= settings.nearCriticalTolerance * $0.startGradientNorm && $0.indexExact }
        let nearFit = IndexEnergyFit(energies: near.map(\.loss), indices: near.map { Double($0.negative) / Double(m) })
        let certified = distinct.filter(\.certified)
        let certifiedFit = IndexEnergyFit(energies: certified.map(\.loss), indices: certified.map { Double($0.negative) / Double(m) })
        let classes = Dictionary(grouping: results, by: \.endClass).mapValues(\.count)
        let phi = Double(m) / Double(n * k)
        let minima = exactIndex.filter { $0.negative == 0 }
        let converged = results.filter(\.converged)
        let orders = converged.compactMap { Certificate.order($0.trace.map(\.gradientNorm)) }.sorted()
        let seconds = results.map(\.seconds).reduce(0, +)
        func mean(_ x: (PointRecord) -> Int) -> Double { results.isEmpty ? 0 : Double(results.map(x).reduce(0, +)) / Double(results.count) }
        var line = "\(results.count) starts, \(converged.count) converged to ‖∇L‖ ≤ \(settings.tolerance) × the start's: \(distinct.count) distinct (\(minima.count) minima, \(exactIndex.count - minima.count) saddles)"
        line += "; \(results.filter(\.certified).count) certified (\(certified.count) distinct)"
        if let fit { line += String(format: "; α = %.3g |(ε − %.4g)/%.4g|^(%.3f ± %.3f)", fit.amplitude, fit.criticalEnergy, fit.criticalEnergy, fit.exponent, fit.exponentError) }
        if !near.isEmpty { line += "; \(near.count) more stopped near-critical (‖∇L‖ ≤ \(settings.nearCriticalTolerance) × the start's)" }
        let summary = Summary(method: settings.method.rawValue, start: settings.start.rawValue, curvature: context.curvatureExact ? "exact" : "lanczos",
                              starts: results.count, converged: converged.count, certified: results.filter(\.certified).count,
                              certifiedDistinct: certified.count, classes: classes, targetIndex: settings.method.targetsIndex ? settings.index ?? 0 : nil,
                              l2: settings.l2, distinct: distinct.count, minima: minima.count,
                              saddles: exactIndex.count - minima.count, parameters: m, samples: n, outputs: k, phi: phi,
                              memorizationEnergy: phi < 1 ? 0.5 * (1 - phi) * (1 - phi) : 0, lowestMinimumEnergy: minima.map(\.loss).min(),
                              tolerance: settings.tolerance, fit: fit, certifiedFit: certifiedFit, nearCritical: near.count, nearCriticalFit: nearFit, convergenceOrder: orders.isEmpty ? nil : orders[orders.count / 2],
                              secondsPerCriticalPoint: converged.isEmpty ? nil : seconds / Double(converged.count),
                              hessianAssembliesPerStart: mean(\.hessianAssemblies), operatorProductsPerStart: mean(\.operatorProducts),
                              gradientEvaluationsPerStart: mean(\.gradientEvaluations), seconds: seconds, line: line)
        let caption = "\(context.model.summary), M = \(m), N = \(n), φ = \(SVGPlot.label(phi)); \(settings.method.rawValue) from \(settings.start.rawValue)"
        try writeAtomically(Data(Self.table(results).utf8), to: output.file("critical.csv"))
        try writeAtomically(Data(Self.traceTable(results).utf8), to: output.file("trace.csv"))
        var plots = [("index-energy.svg", indexEnergyPlot(exactIndex, fit: fit, near: near, nearFit: nearFit, m: m)),
                     ("convergence.svg", convergencePlot(results))]
        if let overlay = spectraPlot(distinct, spectra: spectra) { plots.append(("spectra.svg", overlay)) }
        for (name, var plot) in plots {
            plot.subtitle = caption
            try writeAtomically(Data(plot.render().utf8), to: output.file(name))
        }
        try writeAtomically(Data(markdown(summary, results, plots: plots.map(\.0), caption: caption).utf8), to: output.file("report.md"))
        // (summary.json with the run header: the caller's `JobRun.finish`.)
        // The finished outputs replace the checkpoint.
        try? FileManager.default.removeItem(atPath: checkpoint.path)
        return summary
    }

    /// Start j duplicates the first earlier converged start i with the same energy and spectrum:
    /// |εᵢ − εⱼ| and every |λᵢ − λⱼ| within `duplicateTolerance` of max|ε|, max|λ| — the same point up
    /// to the network's symmetries (permuted hidden units, tanh's sign flips), which leave both unchanged.
    package func markDuplicates(_ results: inout [PointRecord], spectra: [Int: [Double]]) {
        let t = settings.duplicateTolerance
        for j in results.indices where results[j].converged {
            for i in 0..<j where results[i].converged && results[i].duplicateOf == nil {
                let a = results[i], b = results[j]
                guard abs(a.loss - b.loss) <= t * max(abs(a.loss), abs(b.loss)), a.negative == b.negative else { continue }
                let la = spectra[a.start] ?? a.smallestEigenvalues, lb = spectra[b.start] ?? b.smallestEigenvalues
                guard la.count == lb.count else { continue }
                let scale = max(la.map(abs).max() ?? 0, lb.map(abs).max() ?? 0)
                if zip(la, lb).allSatisfy({ abs($0 - $1) <= t * scale }) {
                    results[j].duplicateOf = a.start
                    break
                }
            }
        }
    }

    package static func table(_ results: [PointRecord]) -> String {
        func opt<T>(_ x: T?) -> String { x.map { "\($0)" } ?? "" }
        var text = "start,origin,converged,stop,iterations,start_loss,start_gradient_norm,loss,gradient_norm,target,curvature,negative,near_zero,positive,index,index_exact,smallest_eigenvalue,largest_eigenvalue,gradient_flatness,duplicate_of,hessian_assemblies,operator_products,gradient_evaluations,seconds,target_index,class,certified,newton_step,parameter_norm,convergence_order,flat_ratio,symmetry_modes,reducibility,failures,data_loss\n"
        for r in results {
            let α = Double(r.negative) / Double(r.negative + (r.nearZero ?? 0) + (r.positive ?? 0))
            let c = r.certificate
            text += "\(r.start),\"\(r.origin)\",\(r.converged),\(r.stop),\(r.iterations),\(r.startLoss),\(r.startGradientNorm),\(r.loss),\(r.gradientNorm),\(r.target),\(r.curvature),\(r.negative),\(opt(r.nearZero)),\(opt(r.positive)),\(r.curvature == "exact" ? "\(α)" : ""),\(r.indexExact),\(r.smallestEigenvalue),\(opt(r.largestEigenvalue)),\(r.gradientFlatness),\(opt(r.duplicateOf)),\(r.hessianAssemblies),\(r.operatorProducts),\(r.gradientEvaluations),\(r.seconds)"
            text += ",\(opt(r.targetIndex)),\(r.endClass),\(r.certified),\(opt(c?.newtonStep)),\(opt(c?.parameterNorm)),\(opt(c?.convergenceOrder)),\(opt(r.flatRatio)),\(r.symmetryModes),\"\(r.reducibility ?? "")\",\"\((c?.failures ?? []).joined(separator: "; "))\",\(r.dataLoss)\n"
        }
        return text
    }

    package static func traceTable(_ results: [PointRecord]) -> String {
        var text = "start,iteration,loss,gradient_norm,direction,inner_iterations,inner_stop,damping,step_size,step_length,trials,parameter_norm,uphill_radius,downhill_radius\n"
        for r in results {
            for s in r.trace {
                text += "\(r.start),\(s.iteration),\(s.loss),\(s.gradientNorm),\(s.direction),\(s.innerIterations),\(s.innerStop),\(s.damping),\(s.stepSize),\(s.stepLength),\(s.trials),\(s.parameterNorm),\(s.uphillRadius),\(s.downhillRadius)\n"
            }
        }
        return text
    }

    package func indexEnergyPlot(_ points: [PointRecord], fit: IndexEnergyFit?, near: [PointRecord], nearFit: IndexEnergyFit?, m: Int) -> SVGPlot {
        var plot = SVGPlot(title: "Index α against energy ε at the critical points found", xLabel: "energy ε (loss)", yLabel: "index α (fraction of negative eigenvalues)")
        plot.series = [.init(name: "critical points", points: points.map { ($0.loss, Double($0.negative) / Double(m)) }, style: .points)]
        if !near.isEmpty {
            plot.series.append(.init(name: "near-critical (not converged)", points: near.map { ($0.loss, Double($0.negative) / Double(m)) }, style: .points))
        }
        func curve(_ fit: IndexEnergyFit, over set: [PointRecord], _ name: String) {
            guard let high = set.map(\.loss).max() else { return }
            let from = fit.criticalEnergy
            plot.series.append(.init(name: String(format: "%@: p = %.3f ± %.3f", name, fit.exponent, fit.exponentError), points: (0...100).map { i in
                let ε = from + (high - from) * Double(i) / 100
                return (ε, fit.index(at: ε))
            }))
            plot.markers.append((fit.criticalEnergy, "ε_c"))
        }
        if let fit { curve(fit, over: points, "α₀|(ε − ε_c)/ε_c|^p") }
        if let nearFit { curve(nearFit, over: near, "the same over near-critical points") }
        return plot
    }

    package func convergencePlot(_ results: [PointRecord]) -> SVGPlot {
        var plot = SVGPlot(title: "‖∇L‖ along each search", xLabel: "iteration", yLabel: "‖∇L‖ (log scale)")
        plot.logY = true
        plot.series = results.prefix(SVGPlot.legendLimit).map { r in
            .init(name: "start \(r.start)", points: r.trace.map { (Double($0.iteration), $0.gradientNorm) })
        }
        return plot
    }

    /// The ordered spectra at up to five energies spread over the distinct points (lowest, highest
    /// and between), against i/M so runs of any size overlay: the change of shape with ε.
    package func spectraPlot(_ distinct: [PointRecord], spectra: [Int: [Double]]) -> SVGPlot? {
        let exact = distinct.filter { spectra[$0.start] != nil }.sorted { $0.loss < $1.loss }
        guard !exact.isEmpty else { return nil }
        let picks = Array(Set((0..<min(5, exact.count)).map { exact.count == 1 ? 0 : $0 * (exact.count - 1) / max(1, min(5, exact.count) - 1) })).sorted()
        var plot = SVGPlot(title: "Hessian spectra at critical points of different energy", xLabel: "i / M (ascending)", yLabel: "eigenvalue λᵢ")
        plot.series = picks.map { p in
            let r = exact[p], λ = spectra[r.start]!
            return .init(name: String(format: "ε = %.4g, α = %.3g", r.loss, Double(r.negative) / Double(λ.count)),
                         points: λ.indices.map { (Double($0 + 1) / Double(λ.count), λ[$0]) })
        }
        return plot
    }

    package func markdown(_ s: Summary, _ results: [PointRecord], plots: [String], caption: String) -> String {
        func g(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "–" }
        var text = """
            # Critical points (`landscape critical`)

            \(caption). \(s.line).

            | | |
            |---|---|
            | φ = M/(N·k) | \(g(s.phi)) (M = \(s.parameters), N = \(s.samples), k = \(s.outputs)) |
            | lowest minimum ε | \(g(s.lowestMinimumEnergy)) (½(1 − φ)² = \(g(s.memorizationEnergy))) |
            | fitted ε_c | \(g(s.fit?.criticalEnergy)) ± \(g(s.fit?.criticalEnergyError)) |
            | fitted α₀ | \(g(s.fit?.amplitude)) ± \(g(s.fit?.amplitudeError)) |
            | fitted exponent p (3/2 in the paper) | \(g(s.fit?.exponent)) ± \(g(s.fit?.exponentError)) over \(s.fit?.points ?? 0) saddles |
            | certified (‖∇L‖ ≤ \(g(Certificate.gradientBound)), Newton step, order, stable inertia, isolated) | \(s.certified) (\(s.certifiedDistinct) distinct); over the certified saddles p = \(g(s.certifiedFit?.exponent)) ± \(g(s.certifiedFit?.exponentError)) |
            | ends by class | \(EndClass.allCases.map { "\($0.rawValue) \(s.classes[$0.rawValue] ?? 0)" }.joined(separator: ", ")) |
            | target index, L2 weight λ | \(s.targetIndex.map(String.init) ?? "–"), \(g(s.l2)) |
            | near-critical points (not converged, ‖∇L‖ ≤ \(settings.nearCriticalTolerance) × the start's) | \(s.nearCritical); their fit: p = \(g(s.nearCriticalFit?.exponent)) ± \(g(s.nearCriticalFit?.exponentError)), ε_c = \(g(s.nearCriticalFit?.criticalEnergy)) |
            | convergence order of the last steps (median) | \(g(s.convergenceOrder)) |
            | seconds per critical point | \(g(s.secondsPerCriticalPoint)) |
            | per start: assemblies / products / gradients | \(g(s.hessianAssembliesPerStart)) / \(g(s.operatorProductsPerStart)) / \(g(s.gradientEvaluationsPerStart)) |

            | start | origin | stop | class | iterations | ε | ‖∇L‖ | ‖H∇L‖/(‖H‖‖∇L‖) | index | α | duplicate of |
            |---|---|---|---|---|---|---|---|---|---|---|

            """
        for r in results {
            let index = r.indexExact ? "\(r.negative)" : "≥ \(r.negative)"
            text += "| \(r.start) | \(r.origin) | \(r.stop) | \(r.endClass) | \(r.iterations) | \(g(r.loss)) | \(g(r.gradientNorm)) | \(String(format: "%.2g", r.gradientFlatness)) | \(index) | \(g(Double(r.negative) / Double(s.parameters))) | \(r.duplicateOf.map(String.init) ?? "") |\n"
        }
        text += "\n" + plots.map { "![\($0)](\($0))" }.joined(separator: "\n") + "\n\nPer-step traces: trace.csv; points: points/<start>.npy; spectra: spectra/<start>.npy. See docs/critical.md.\n"
        return text
    }
}

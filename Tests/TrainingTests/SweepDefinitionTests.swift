import Cluster
import Configuration
import Testing

/// The [sweep] table: axes, explicit points, stable ids, and the cost-balanced deal of points to
/// groups and array tasks.
@Suite struct SweepDefinitionTests {
    static let base = """
        seed = 1
        [data]
        kind = "clusters"
        classes = 3
        dimension = 10
        [model]
        layers = [8]

        """

    @Test func cartesianProductWithStableDistinctIds() throws {
        let text = Self.base + """
            [sweep]
            "data.classes" = [2, 5, 10]
            "model.layers" = [[10, 10], [30, 30]]
            seed = [0, 1]
            """
        let sweep = try SweepDefinition(toml: text, source: "s.toml")
        #expect(sweep.points.count == 12)
        #expect(Set(sweep.points.map(\.id)).count == 12)
        // Parsing again gives the same ids (a re-run finds its points).
        #expect(try SweepDefinition(toml: text, source: "s.toml").points.map(\.id) == sweep.points.map(\.id))
        let point = try #require(sweep.points.first { $0.configuration.data.classes == 5 && $0.configuration.model.layers == [30, 30] && $0.configuration.seed == 1 })
        #expect(point.configuration.data.dimension == 10)   // the base's other keys stay
        // A changed base is a different run, so a different id.
        let changed = try SweepDefinition(toml: text.replacingOccurrences(of: "dimension = 10", with: "dimension = 11"), source: "s.toml")
        #expect(Set(changed.points.map(\.id)).isDisjoint(with: Set(sweep.points.map(\.id))))
    }

    @Test func nestedKeysExplicitPointsAndOptions() throws {
        let text = Self.base + """
            [sweep]
            ggn = true
            model.activation = ["tanh", "relu"]
            [[sweep.points]]
            "train.algorithm" = "gd"
            [[sweep.points]]
            "train.algorithm" = "sgd"
            "train.batch" = 50
            """
        let sweep = try SweepDefinition(toml: text, source: "s.toml")
        #expect(sweep.points.count == 4)
        #expect(sweep.gaussNewtonSplit && sweep.points.allSatisfy(\.gaussNewtonSplit))
        #expect(sweep.points.filter { $0.configuration.train.batch == 50 }.count == 2)
        #expect(Set(sweep.points.map { $0.configuration.model.activation.rawValue }) == ["tanh", "relu"])
        #expect(sweep.points.allSatisfy { !$0.residualSpectrum })
    }

    /// `residual = true` implies the split and gives new point ids; `residual = false` keeps the ids
    /// of a sweep written before the option existed.
    @Test func residualImpliesTheSplitAndKeepsOldIds() throws {
        let axes = "model.activation = [\"tanh\", \"relu\"]\n"
        let plain = try SweepDefinition(toml: Self.base + "[sweep]\nggn = true\n" + axes, source: "s.toml")
        let off = try SweepDefinition(toml: Self.base + "[sweep]\nggn = true\nresidual = false\n" + axes, source: "s.toml")
        let on = try SweepDefinition(toml: Self.base + "[sweep]\nresidual = true\n" + axes, source: "s.toml")
        #expect(off.points.map(\.id) == plain.points.map(\.id))
        #expect(on.points.allSatisfy { $0.gaussNewtonSplit && $0.residualSpectrum })
        #expect(Set(on.points.map(\.id)).isDisjoint(with: Set(plain.points.map(\.id))))
        #expect(on.points[0].estimatedCost > plain.points[0].estimatedCost)
    }

    @Test func badDefinitionsAreNamed() throws {
        func message(_ text: String) -> String {
            do { _ = try SweepDefinition(toml: text, source: "s.toml"); return "" } catch let error as InputError {
                return error.message
            } catch { return "\(error)" }
        }
        #expect(message(Self.base).contains("no [sweep] table"))
        #expect(message(Self.base + "[sweep]\n\"data.classes\" = 3\n").contains("must be a non-empty list"))
        #expect(message(Self.base + "[sweep]\n\"data.clases\" = [2, 3]\n").contains("unknown configuration key 'data.clases'"))
        #expect(message(Self.base + "[sweep]\n\"data.classes\" = [2, 2]\n").contains("are the same run"))
        #expect(message(Self.base + "[sweep]\n\"model.activation\" = [\"tanh\", \"swish\"]\n").contains("'swish' is not one of"))
    }

    /// Largest-first dealing: every point lands in exactly one bin, and no bin's load exceeds the
    /// ideal share by more than the largest single point (the LPT bound).
    @Test func balancedSlicesPartitionThePoints() throws {
        let text = Self.base + """
            [sweep]
            "model.layers" = [[10], [40], [80], [20, 20], [160]]
            "data.classes" = [2, 7]
            """
        let sweep = try SweepDefinition(toml: text, source: "s.toml")
        for bins in 1...4 {
            let slices = (0..<bins).map { sweep.slice($0, of: bins) }
            #expect(slices.flatMap { $0.map(\.id) }.sorted() == sweep.points.map(\.id).sorted())
            let loads = slices.map { $0.reduce(0) { $0 + $1.estimatedCost } }
            let total = loads.reduce(0, +), largest = sweep.points.map(\.estimatedCost).max()!
            #expect(loads.max()! <= total / Double(bins) + largest)
        }
    }
}

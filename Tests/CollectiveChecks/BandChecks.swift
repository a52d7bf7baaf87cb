import Cluster
import Geometry
import Jobs
import Objectives
import Optimization
import Support

/// The path's band sharded by rows over the ranks (`PathJob`): the NEB forces, FIRE's steps and
/// the group exchange that puts pivots whole on a group and sends gradients' rows back
/// (`RankGroups.shareOverRows`), each against the same computation on whole vectors, which every
/// rank makes by itself. M = 37 rows do not divide evenly over 2, 3 or 4 ranks.
func registerBandChecks(_ suite: inout CheckSuite) throws {
    guard suite.selects(family: "band.") else { return }
    let world = suite.world
    let m = 37, interior = 5
    let rows = RowPartition(length: m, over: world)
    let sums = rows.sums(on: world)
    // A bent band (random pivots), its gradients, and energies with every tangent case: rising,
    // falling, a maximum, a minimum, equal neighbours.
    let pivots = randomParameters((interior + 2) * m, seed: 71)
    let gradients = randomParameters(interior * m, seed: 72)
    let energySets: [[Double]] = [[0, 1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1, 0], [0, 2, 5, 3, 3, 1, 0.5], [1, 1, 1, 1, 1, 1, 1]]
    /// This rank's rows of each of `count` whole vectors laid end to end.
    func local(_ whole: [Double], count: Int) -> [Double] { rows.slice(whole, columns: count) }
    /// The whole vectors from every rank's rows of each.
    func gathered(_ mine: [Double], count: Int) throws -> [Double] { try rows.gather(mine, columns: count, on: world) }

    try suite.check("band.forces.sharded=whole", tolerance: 1e-13) {
        let whole = ElasticBand(pivots: pivots, dimension: m)
        let band = ElasticBand(pivots: local(pivots, count: interior + 2), dimension: rows.count)
        var worst = 0.0
        for energies in energySets {
            for climb in [false, true] {
                let expected = try whole.forces(energies: energies, gradients: gradients, spring: 2.5, climb: climb)
                let forces = try band.forces(energies: energies, gradients: local(gradients, count: interior), spring: 2.5, climb: climb, sums)
                guard forces.climbing == expected.climbing else { return .infinity }
                worst = max(worst, relativeDifference(try gathered(forces.force, count: interior), expected.force),
                            relativeDifference(forces.residual, expected.residual),
                            relativeDifference(forces.segmentLengths, expected.segmentLengths))
            }
        }
        worst = max(worst, relativeDifference(try band.arcLengths(sums), try whole.arcLengths()))
        return worst
    }

    try suite.check("band.fire.sharded=whole", tolerance: 1e-12) {
        // FIRE on a quadratic bowl with unequal curvatures: 60 steps, both its restarts and its
        // growing time step, whole against sharded.
        let curvature = (0..<m).map { 1 + Double($0 % 7) }
        func direction(_ θ: [Double], _ c: ArraySlice<Double>) -> [Double] { zip(θ, c).map { $0 * $1 } }
        var θ = randomParameters(m, seed: 73), mine = local(θ, count: 1)
        let whole = FIRE(), sharded = FIRE(sums: sums)
        var v = whole.initialAuxiliary(count: m), w = sharded.initialAuxiliary(count: rows.count)
        for _ in 0..<60 {
            try whole.apply(to: &θ, auxiliary: &v, direction: direction(θ, curvature[...]), learningRate: 0.3)
            try sharded.apply(to: &mine, auxiliary: &w, direction: direction(mine, curvature[rows.rows]), learningRate: 0.3)
        }
        // The scalars (time scale, mixing, downhill steps) agree exactly once the sums do.
        guard Array(w!.suffix(3)) == Array(v!.suffix(3)) else { return .infinity }
        return relativeDifference(try gathered(mine, count: 1), θ)
    }

    // Items with two inputs (pivots i and i + 1), computed by groups of every size that divides P:
    // the group sees them whole, returns a vector whose rows every rank must get back. In batches
    // of every round at once, of one round, and of two. M = 37 is sharded on every P; M = 3 is
    // whole on every rank at P = 4 (fewer rows than ranks), where groups share through `share`.
    func shareErrors(m: Int) throws -> Double {
        let rows = RowPartition(length: m, over: world)
        let pivots = randomParameters((interior + 2) * m, seed: 74)
        let band = rows.slice(pivots, columns: interior + 2)
        var errors = 0.0
        let items = interior + 1
        for size in (1...world.size).filter({ world.size % $0 == 0 }) {
            for budget in [RankGroups.wholeBudget, 1, 2 * 8 * 3 * m] {
                let groups = try RankGroups.split(world, size: size, setting: "group-size")
                defer { groups.free() }
                let shared = try groups.shareOverRows(items, rows: rows,
                                                      inputs: { i in [band[i * rows.count ..< (i + 1) * rows.count], band[(i + 1) * rows.count ..< (i + 2) * rows.count]] },
                                                      scalars: 2, returnsVector: true, wholeBudget: budget) { i, whole in
                    // A group collective inside, as a data-parallel gradient has.
                    let size = try groups.group.allreduce(1.0, .sum)
                    return ([Double(i), size], zip(whole[0], whole[1]).map { 3 * $0 - $1 })
                }
                for i in 0..<items {
                    let a = pivots[i * m ..< (i + 1) * m], b = pivots[(i + 1) * m ..< (i + 2) * m]
                    let expected = Array(zip(a, b).map { 3 * $0 - $1 }[rows.rows])
                    errors += shared.rows[i] == expected ? 0 : 1
                    errors += shared.scalars[i] == [Double(i), Double(groups.group.size)] ? 0 : 1
                }
            }
        }
        return errors
    }
    try suite.check("band.share-over-rows.exact", tolerance: 0) { try shareErrors(m: m) }
    try suite.check("band.share-over-rows.fewer-rows-than-ranks.exact", tolerance: 0) { try shareErrors(m: 3) }
}

// swift-tools-version:6.0
// Landscape: exact Hessians of neural-network losses on MPI clusters.
// Module graph (arrows point one way; docs/architecture.md, checked by ArchitectureTests):
// landscape → Studies → PathJobs, Workflows; CriticalJobs → Jobs → Configuration, Planning, Reporting, Curvature, Training → Optimization,
// Objectives → Networks, Datasets, DistributedLinearAlgebra → Cluster, NPY, Samples, Support → C shims
// (CMPI, CBLAS, CScaLAPACK, CELPA). Only the C shims and package-internal API see raw C types.
import PackageDescription

let package = Package(
    name: "Landscape",
    products: [
        .executable(name: "landscape", targets: ["landscape"]),
        .library(name: "Cluster", targets: ["Cluster"]),
        .library(name: "DistributedLinearAlgebra", targets: ["DistributedLinearAlgebra"]),
        .library(name: "NPY", targets: ["NPY"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Open MPI through pkg-config `ompi-c`; the shim header re-exports MPI's handle macros
        // (MPI_COMM_WORLD, MPI_DOUBLE, …) as static inline functions Swift can import.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // BLACS/ScaLAPACK (Fortran symbols, declared by hand), CBLAS and LAPACKE (OpenBLAS).
        .systemLibrary(name: "CScaLAPACK", path: "Sources/CScaLAPACK", pkgConfig: "scalapack-openmpi",
                       providers: [.apt(["libscalapack-openmpi-dev", "libopenblas-dev", "liblapacke-dev"])]),
        // ELPA, the faster distributed eigensolver (pkg-config `elpa`).
        .systemLibrary(name: "CELPA", path: "Sources/CELPA", pkgConfig: "elpa",
                       providers: [.apt(["libelpa-dev"])]),
        // OpenBLAS's CBLAS alone, for the serial modules (no MPI, no ScaLAPACK).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "Support"),
        .target(name: "Cluster", dependencies: ["CMPI", "Support"]),
        .target(name: "NPY", dependencies: ["Support"]),
        .target(name: "Samples"),
        .target(name: "SeededRandom"),
        .target(name: "DistributedLinearAlgebra",
                dependencies: ["Cluster", "CMPI", "CScaLAPACK", "CELPA", "NPY", "SeededRandom", "Support"]),
        .target(name: "Networks", dependencies: ["CBLAS", "Samples", "SeededRandom"]),
        // Models brought from PyTorch/JAX as ONNX graphs, and their parameters written back.
        .target(name: "ONNX", dependencies: ["Networks", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Datasets", dependencies: ["Cluster", "NPY", "Samples", "SeededRandom"]),
        .target(name: "Objectives", dependencies: ["Cluster", "DistributedLinearAlgebra", "Networks", "Datasets", "Samples", "Support"]),
        .target(name: "Optimization", dependencies: ["Cluster", "Support"]),
        .target(name: "Krylov", dependencies: ["Cluster", "CScaLAPACK", "Objectives", "SeededRandom", "Support"]),
        .target(name: "CriticalPoints", dependencies: ["Krylov", "Objectives", "Optimization"]),
        .target(name: "Training", dependencies: ["Cluster", "NPY", "Samples", "SeededRandom", "Networks", "Datasets", "Objectives",
                                                 "Optimization"]),
        .target(name: "Curvature", dependencies: ["Cluster", "DistributedLinearAlgebra", "Networks", "Objectives", "Samples", "Support"]),
        .target(name: "Configuration",
                dependencies: ["Cluster", "CriticalPoints", "Curvature", "Datasets", "DistributedLinearAlgebra", "Geometry", "Krylov", "Networks",
                               "Objectives", "Training",
                               .product(name: "TOMLKit", package: "TOMLKit")]),
        .target(name: "Planning", dependencies: ["Cluster", "Curvature", "DistributedLinearAlgebra", "Networks", "Support"]),
        .target(name: "Reporting", dependencies: []),
        .target(name: "Geometry", dependencies: ["Networks", "SeededRandom", "Support"]),
        // The job layer: the runner every command runs through, run headers, run directories and
        // their locks, settings identities, rank groups and the group work queue.
        .target(name: "Jobs",
                dependencies: ["Cluster", "Configuration", "Curvature", "Datasets", "DistributedLinearAlgebra", "Krylov", "NPY", "Networks",
                               "ONNX", "Objectives", "Optimization", "Support"]),
        .target(name: "Workflows",
                dependencies: ["CBLAS", "Cluster", "Configuration", "Curvature", "Datasets", "DistributedLinearAlgebra", "Geometry", "Jobs", "Krylov",
                               "NPY", "Networks", "ONNX", "Objectives", "Optimization", "Planning", "Reporting", "SeededRandom", "Support", "Training"]),
        // Command families over the jobs: paths between minima, critical points, and the studies
        // that compose jobs.
        .target(name: "PathJobs",
                dependencies: ["Cluster", "Configuration", "CriticalJobs", "CriticalPoints", "Curvature", "Datasets", "DistributedLinearAlgebra",
                               "Geometry", "Jobs", "Krylov", "NPY", "Networks", "Objectives", "Optimization", "Planning", "Reporting", "Support",
                               "Training"]),
        .target(name: "CriticalJobs",
                dependencies: ["Cluster", "Configuration", "CriticalPoints", "Curvature", "Datasets", "DistributedLinearAlgebra", "Jobs", "Krylov",
                               "NPY", "Networks", "Objectives", "Optimization", "Planning", "Reporting", "Support", "Training"]),
        .target(name: "Studies",
                dependencies: ["Cluster", "Configuration", "Geometry", "Jobs", "NPY", "PathJobs", "Reporting", "Support", "Workflows"]),
        .executableTarget(name: "landscape",
                          dependencies: ["Workflows", "Jobs", "PathJobs", "CriticalJobs", "Studies", "Configuration", "CriticalPoints", "Geometry", "Planning", "CBLAS", "Cluster", "DistributedLinearAlgebra", "Networks", "Datasets", "NPY", "Objectives", "Optimization", "Training", "Support",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Collective library code under mpirun -np 1…4 (launched by MPITests.LibraryUnderMPI).
        .executableTarget(name: "collective-checks",
                          dependencies: ["CScaLAPACK", "Cluster", "Configuration", "Curvature", "Datasets", "DistributedLinearAlgebra", "Geometry", "Jobs", "PathJobs", "CriticalJobs",
                                         "Krylov", "Networks", "NPY", "Objectives", "Optimization", "Samples", "SeededRandom", "Support", "Training", "Workflows"],
                          path: "Tests/CollectiveChecks"),
        .testTarget(name: "NPYTests", dependencies: ["NPY"]),
        .testTarget(name: "GeometryTests", dependencies: ["Geometry", "Optimization"]),
        .testTarget(name: "DistributedLinearAlgebraTests", dependencies: ["DistributedLinearAlgebra"]),
        .testTarget(name: "MPITests", dependencies: ["NPY", "CScaLAPACK", "Configuration", "Curvature", "Networks", "Samples"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "Samples", "SeededRandom"]),
        .testTarget(name: "CurvatureTests", dependencies: ["Curvature", "Networks", "Samples"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Networks", "NPY", "Samples"]),
        .testTarget(name: "CriticalPointsTests", dependencies: ["CriticalPoints"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Networks", "Datasets", "Configuration"]),
    ]
)

# Landscape — the two commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
NP ?= 2

.PHONY: deps build demo demo-eig test bench bench-eig bench-eigenvalues-peers bench-assembly bench-jax bench-convnet-jax bench-convnet-throughput bench-throughput bench-scaling bench-estimators bench-hvp-peers bench-interpolate bench-path bench-critical docs clean

deps:
	@launch/install-deps

build: deps
	swift build -c release

# The main job on its built-in default, on $(NP) ranks: Sagun et al.'s reference experiment
# (10 Gaussian clusters in R^100, MLP 100-30-30-10, ReLU, GD), trained, then the exact Hessian's
# spectrum at initialisation and after training, with the Gauss-Newton split.
demo: build
	rm -rf results/demo
	NP=$(NP) launch/mpirun spectrum --config examples/train-clusters.toml --ggn --out results/demo
	@echo "plots: results/demo/spectra.svg, results/demo/final/*.svg; numbers: results/demo/final/summary.json"

# A distributed eigensolver on a dense matrix with a known spectrum.
demo-eig: build
	NP=$(NP) launch/mpirun eig --test-matrix householder:2000 --vectors top:10 --out results/demo-eig

# Every test: unit tests and the MPI tests that launch mpirun -np 1…4.
test: deps
	swift build --build-tests
	swift test

# Benchmarks (not tests), results in bench/results/: eigensolvers against single-process LAPACK
# and NumPy; Hessian assembly, gradient and HVP throughput against OpenBLAS dgemm peak; strong and
# weak scaling of `landscape spectrum` over rank counts (table and SVG plot); the matrix-free
# estimators against the exact spectrum and PyHessian (bench/estimators.sh); the exact Hessian against
# jax.hessian for an MLP (bench/jax.sh) and a small MNIST convnet (bench/convnet-jax.sh); the convnet's
# gradient and HVP throughput against dgemm and PyTorch float64 (bench/convnet-throughput.sh); the
# MLP's Hessian-vector products against PyTorch, PyHessian and JAX at B = 1, 8, 64 (bench/hvp-peers.sh);
# eigenvalues only against MKL and LAPACK's two-stage dsyevd (bench/eigenvalues-peers.sh).
bench: bench-eig bench-eigenvalues-peers bench-assembly bench-throughput bench-scaling bench-jax bench-convnet-jax bench-convnet-throughput bench-estimators bench-hvp-peers bench-interpolate bench-path bench-critical
bench-eig: build
	bench/eigensolvers.sh
bench-eigenvalues-peers: build
	bench/eigenvalues-peers.sh
bench-assembly: build
	bench/assembly.sh
bench-jax: build
	bench/jax.sh
bench-convnet-jax: build
	launch/mnist-5k
	bench/convnet-jax.sh
bench-convnet-throughput: build
	launch/mnist-5k
	bench/convnet-throughput.sh
bench-throughput: build
	bench/throughput.sh
bench-scaling: build
	bench/scaling.sh
bench-estimators: build
	bench/estimators.sh
bench-hvp-peers: build
	bench/hvp-peers.sh
bench-interpolate: build
	bench/interpolate.sh
bench-path: build
	bench/path.sh
bench-critical: build
	bench/critical.sh

# docs/cli.md, generated from the argument parser of the built binary.
docs: build
	docs/generate-cli-reference

clean:
	rm -rf .build results

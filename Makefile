# Landscape — the two commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
NP ?= 2

.PHONY: deps build demo test bench clean

deps:
	@launch/install-deps

build: deps
	swift build -c release

# The main job on its built-in default, on $(NP) ranks.
demo: build
	NP=$(NP) launch/mpirun eig --test-matrix householder:2000 --vectors top:10 --out results/demo-eig

# Every test: unit tests and the MPI tests that launch mpirun -np 1…4.
test: deps
	swift build --build-tests
	swift test

# Benchmarks (not tests): eigensolvers against single-process LAPACK, results in bench/results/.
bench: build
	bench/eigensolvers.sh

clean:
	rm -rf .build results

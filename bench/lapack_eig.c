/* Single-process LAPACK reference for bench/eigensolvers.sh: times LAPACKE_dsyevd on the same
 * kind of matrix `landscape eig --test-matrix householder:M` builds (A = Q D Q, Q a Householder
 * reflector, D = Chebyshev bulk in [-1, 1] plus 5 outliers), so both sides diagonalise matrices
 * with the same spectrum. Threads: OPENBLAS_NUM_THREADS (MKL_NUM_THREADS when linked to MKL).
 * The routine is dsyevd (default) or dsyevd_2stage (LAPACK ≥ 3.7's two-stage tridiagonalisation:
 * full → band by BLAS-3, band → tridiagonal by bulge chasing; eigenvalues only, jobz N).
 * Prints: M jobz seconds max|λ-λ_exact|. */
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t state = 12345;
static double uniform(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(state >> 11) * 0x1p-53;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) { fprintf(stderr, "usage: lapack_eig M N|V [dsyevd|dsyevd_2stage]\n"); return 2; }
    int n = atoi(argv[1]);
    char jobz = argv[2][0];
    int two_stage = argc == 4 && strcmp(argv[3], "dsyevd_2stage") == 0;
    if (argc == 4 && !two_stage && strcmp(argv[3], "dsyevd") != 0) { fprintf(stderr, "unknown routine %s\n", argv[3]); return 2; }
    double *d = malloc(sizeof(double) * n), *u = malloc(sizeof(double) * n);
    double *a = malloc(sizeof(double) * (size_t)n * n), *w = malloc(sizeof(double) * n);
    int outliers = n < 5 ? n : 5, bulk = n - outliers;
    for (int k = 0; k < bulk; k++) d[k] = cos(M_PI * ((double)(bulk - k) - 0.5) / bulk);
    for (int k = 0; k < outliers; k++) d[bulk + k] = 10.0 * (k + 1);
    double norm = 0, s = 0;
    for (int i = 0; i < n; i++) { u[i] = uniform() - 0.5; norm += u[i] * u[i]; }
    for (int i = 0; i < n; i++) { u[i] /= sqrt(norm); s += u[i] * u[i] * d[i]; }
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double uu = u[i] * u[j];
            a[(size_t)j * n + i] = (i == j ? d[i] : 0) - 2 * uu * (d[i] + d[j]) + 4 * uu * s;
        }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int info = two_stage ? LAPACKE_dsyevd_2stage(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w)
                         : LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (info != 0) { fprintf(stderr, "dsyevd INFO = %d\n", info); return 1; }
    qsort(d, n, sizeof(double), ascending);
    double error = 0;
    for (int i = 0; i < n; i++) error = fmax(error, fabs(w[i] - d[i]));
    printf("%d %c %.4f %.3e\n", n, jobz, (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), error);
    return 0;
}

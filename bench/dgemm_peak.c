/* OpenBLAS dgemm peak on this machine: the best of several n × n × n products. Threads come
 * from OPENBLAS_NUM_THREADS. Prints: GFLOP/s. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = malloc(sizeof(double) * n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = (double)(i % 7) - 3; b[i] = (double)(i % 5) - 2; c[i] = 0; }
    double best = 1e30;
    for (int trial = 0; trial < 5; trial++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
        if (s < best) best = s;
    }
    printf("%.2f\n", 2.0 * n * n * (double)n / best / 1e9);
    return 0;
}

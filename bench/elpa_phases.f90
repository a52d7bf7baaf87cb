! ELPA's own phase timers for an eigenvalues-only solve (bench/elpa-phases.sh runs it): where
! ELPA spends its time (full → band, band → tridiagonal, tridiagonal divide and conquer), which
! `landscape eig` cannot show because ELPA's C API has no elpa_print_times. Same kind of matrix as
! `landscape eig --test-matrix householder:M`: A = Q D Q with a Householder reflector Q and D a
! Chebyshev bulk in [-1, 1] plus 5 outliers (u is deterministic here, not the seeded one).
!   mpirun -np P elpa_phases M NBLK PROCESS_ROWS STAGE NEV [setting=value ...]
program elpa_phases
  use elpa
  use mpi
  implicit none
  class(elpa_t), pointer :: solver
  integer :: n, nblk, rows, columns, my_row, my_column, context, local_rows, local_columns
  integer :: stage, nev, rank, size, status, i, j, gi, gj, k, value, outliers, bulk
  integer, external :: numroc
  real(8), allocatable :: a(:,:), eigenvalues(:), u(:), d(:)
  real(8) :: s, start, seconds
  character(len=64) :: argument

  call mpi_init(status)
  call mpi_comm_rank(mpi_comm_world, rank, status)
  call mpi_comm_size(mpi_comm_world, size, status)
  n = integer_argument(1); nblk = integer_argument(2); rows = integer_argument(3)
  stage = integer_argument(4); nev = integer_argument(5)
  columns = size / rows
  call blacs_get(-1, 0, context)
  call blacs_gridinit(context, 'C', rows, columns)
  call blacs_gridinfo(context, rows, columns, my_row, my_column)
  local_rows = numroc(n, nblk, my_row, 0, rows)
  local_columns = numroc(n, nblk, my_column, 0, columns)
  allocate(a(local_rows, local_columns), eigenvalues(n), u(n), d(n))

  outliers = min(n, 5); bulk = n - outliers
  do i = 1, n
    u(i) = sin(1.3d0 * i) + 0.1d0
    if (i <= bulk) then
      d(i) = cos(4d0 * atan(1d0) * (bulk - i + 0.5d0) / bulk)
    else
      d(i) = 10d0 * (i - bulk)
    end if
  end do
  u = u / sqrt(sum(u * u))
  s = sum(u * d * u)
  ! A(i,j) = d_i δ_ij − 2 u_i u_j (d_i + d_j) + 4 u_i u_j s, on the entries this rank owns.
  do j = 1, local_columns
    gj = ((j - 1) / nblk * columns + my_column) * nblk + mod(j - 1, nblk) + 1
    do i = 1, local_rows
      gi = ((i - 1) / nblk * rows + my_row) * nblk + mod(i - 1, nblk) + 1
      a(i, j) = -2d0 * u(gi) * u(gj) * (d(gi) + d(gj)) + 4d0 * s * u(gi) * u(gj)
      if (gi == gj) a(i, j) = a(i, j) + d(gi)
    end do
  end do

  if (elpa_init(20221109) /= ELPA_OK) error stop "elpa_init failed"
  solver => elpa_allocate(status)
  call solver%set("na", n, status); call solver%set("nev", nev, status)
  call solver%set("local_nrows", local_rows, status); call solver%set("local_ncols", local_columns, status)
  call solver%set("nblk", nblk, status); call solver%set("mpi_comm_parent", mpi_comm_world, status)
  call solver%set("process_row", my_row, status); call solver%set("process_col", my_column, status)
  call solver%set("blacs_context", context, status)
  call solver%set("timings", 1, status)   ! must precede setup
  if (solver%setup() /= ELPA_OK) error stop "elpa_setup failed"
  call solver%set("solver", merge(ELPA_SOLVER_2STAGE, ELPA_SOLVER_1STAGE, stage == 2), status)
  do k = 6, command_argument_count()
    call get_command_argument(k, argument)
    i = index(argument, '=')
    read(argument(i + 1:), *) value
    call solver%set(argument(1:i - 1), value, status)
    if (status /= ELPA_OK) error stop "an ELPA setting was refused"
  end do

  call mpi_barrier(mpi_comm_world, status)
  start = mpi_wtime()
  call solver%timer_start("eigenvalues")
  call solver%eigenvalues(a, eigenvalues, status)
  call solver%timer_stop("eigenvalues")
  seconds = mpi_wtime() - start
  if (status /= ELPA_OK) error stop "elpa_eigenvalues failed"
  if (rank == 0) then
    print '(a, f0.3, a, es9.2)', 'seconds ', seconds, '  max |λ − d| ', &
      maxval(abs(eigenvalues - d))   ! d is ascending: the bulk, then the outliers
    call solver%print_times("eigenvalues")
  end if
  call elpa_deallocate(solver, status)
  call elpa_uninit(status)
  call mpi_finalize(status)

contains

  integer function integer_argument(position)
    integer, intent(in) :: position
    character(len=32) :: text
    call get_command_argument(position, text)
    read(text, *) integer_argument
  end function
end program

-- How the last PageRank run converged: L1 change per iteration, time and dead-end mass.
select
    iteration,
    l1_delta,
    seconds,
    dead_end_mass
from pagerank_iterations
order by iteration

-- The :k largest groups of near-duplicate documents, with a few members. Parameter :k.
with cluster_sizes as (
    select
        cluster,
        max(cluster_size) as documents,
        slice(array_sort(collect_list(doc_id)), 1, 5) as first_members
    from duplicate_clusters
    group by cluster
),

biggest_clusters_final as (
    select
        cluster,
        documents,
        first_members
    from cluster_sizes
)

select *
from biggest_clusters_final
order by documents desc, cluster
limit :k

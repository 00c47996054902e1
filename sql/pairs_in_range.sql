-- Similar pairs with Jaccard similarity in [:low, :high], most similar first.
-- Parameters :low, :high (decimals; :low at or above the job's --threshold finds pairs).
with pairs_in_range_final as (
    select
        doc_a,
        doc_b,
        jaccard,
        band_hits
    from similar_pairs
    where jaccard between :low and :high
)

select *
from pairs_in_range_final
order by jaccard desc, doc_a, doc_b

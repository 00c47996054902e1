-- Documents similar to :doc (a doc_id), most similar first. Parameter :doc (string).
with pairs_of_doc as (
    select
        case when doc_a = :doc then doc_b else doc_a end as other_doc,
        jaccard,
        band_hits
    from similar_pairs
    where doc_a = :doc or doc_b = :doc
),

near_duplicates_final as (
    select
        other_doc,
        jaccard,
        band_hits
    from pairs_of_doc
)

select *
from near_duplicates_final
order by jaccard desc, other_doc

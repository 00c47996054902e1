-- Frequent itemsets that contain every item of :items (comma-separated), most frequent first.
with wanted as (
    select transform(split(:items, ','), x -> trim(x)) as items
),

itemsets_final as (
    select
        itemsets.items,
        itemsets.size,
        itemsets.support_count,
        itemsets.support
    from itemsets
    cross join wanted
    where size(array_except(wanted.items, itemsets.items)) = 0
)

select *
from itemsets_final
order by support_count desc, size, items

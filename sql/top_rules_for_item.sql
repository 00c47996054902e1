-- Rules whose antecedent contains :item, strongest lift first. Parameters :item (string), :k.
with rules_final as (
    select
        antecedent,
        consequent,
        support,
        confidence,
        lift,
        conviction
    from rules
    where array_contains(antecedent, :item)
)

select *
from rules_final
order by lift desc, confidence desc, antecedent, consequent
limit :k

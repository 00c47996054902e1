-- Rules with confidence at least :c (e.g. 0.8), highest confidence, then lift, first.
with rules_final as (
    select
        antecedent,
        consequent,
        support,
        confidence,
        lift,
        interest,
        leverage,
        conviction
    from rules
    where confidence >= :c
)

select *
from rules_final
order by confidence desc, lift desc, antecedent, consequent

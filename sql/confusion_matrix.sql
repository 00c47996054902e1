-- The confusion matrix of the published predictions (the test file's, else the training
-- rows'): rows of each actual label by predicted label, with the share of the actual label's
-- rows (the diagonal is each class's recall).
with actual_totals as (
    select
        split,
        actual,
        sum(rows) as actual_rows
    from confusion
    group by split, actual
),

confusion_final as (
    select
        confusion.split,
        confusion.actual,
        confusion.predicted,
        confusion.rows,
        confusion.rows / actual_totals.actual_rows as share_of_actual
    from confusion
    inner join actual_totals
        on confusion.split = actual_totals.split and confusion.actual = actual_totals.actual
)

select *
from confusion_final
order by split, actual, predicted

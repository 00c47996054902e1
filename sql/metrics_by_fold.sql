-- Cross-validation (train job with --folds k): each fold's measures on its held-out rows and
-- the trainer's validation split, with their mean and population standard deviation over the
-- folds (ddof = 0, as scikit-learn's cv_results_).
-- Per-class measures have `label` set. Parameter :metric ('%' for all, e.g. 'accuracy').
with fold_metrics as (
    select
        split,
        metric,
        label,
        fold,
        value
    from metrics
    where fold is not null and metric like :metric
),

metrics_by_fold_final as (
    select
        split,
        metric,
        label,
        fold,
        value,
        avg(value) over (partition by split, metric, label) as mean_over_folds,
        stddev_pop(value) over (partition by split, metric, label) as std_over_folds
    from fold_metrics
)

select *
from metrics_by_fold_final
order by split, metric, label nulls first, fold

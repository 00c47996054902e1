-- The best epoch of each trained model: least validation loss (least training objective when
-- the run held out no validation rows), the earliest of ties, as early stopping keeps it.
-- `fold` is null for the model trained on all rows, 0..k-1 for cross-validation models.
with ranked as (
    select
        fold,
        epoch,
        train_loss,
        validation_loss,
        validation_metric,
        count(*) over (partition by fold) as epochs,
        row_number() over (
            partition by fold
            order by coalesce(validation_loss, train_loss), epoch
        ) as position
    from training_history
),

best_epoch_final as (
    select
        fold,
        epoch as best_epoch,
        epochs,
        train_loss,
        validation_loss,
        validation_metric
    from ranked
    where position = 1
)

select *
from best_epoch_final
order by fold nulls first

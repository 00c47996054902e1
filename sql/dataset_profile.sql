-- What each ingested data set contributed: rows read, kept, quarantined, deduplicated.
with profile_final as (
    select
        dataset,
        kind,
        rows_read,
        rows_kept,
        rows_quarantined,
        duplicates_removed,
        entities,
        rows_read = rows_kept + rows_quarantined + duplicates_removed as counts_add_up
    from dataset_profile
)

select *
from profile_final
order by dataset

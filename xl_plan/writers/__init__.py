"""Writers put results into the sheets and cells xl_plan owns."""

"""OGC API - Features for authorities: catch aggregated per hexagon cell and month."""

"""Studies that combine experiments: reproduce (and, merged from other branches, scaling and regimes)."""

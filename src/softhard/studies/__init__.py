"""Studies: each study stands on the shared parts of softhard (data, teachers, engine, sweep store)."""

"""The revisions, in order: 0001 (schema version 1) … head. Add one; never edit a released one."""

"""The data model every layer shares: facts (what was measured), the report (findings per file), units and failures."""

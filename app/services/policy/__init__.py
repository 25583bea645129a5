"""The use policy as software: its clauses and rules, each image's stated provenance, the
screening net over free text, the clause map."""

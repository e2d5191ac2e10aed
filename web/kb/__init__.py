"""The knowledge base (知识库): articles in a category tree, kept by headquarters at the hub (or by
a standalone campus) and replicated to every node, searched with SQLite FTS5's trigram tokenizer so
Chinese words are found inside longer text."""

"""The knowledge base (知识库, issue 13): member units' entries, searched by seats in Chinese."""

"""The 三定 digital archive: documents, their text, and the changes they propose."""

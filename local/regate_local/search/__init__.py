"""Search rehearsal kit: synthetic French act texts and PDFs (text and scanned), hostile PDFs."""

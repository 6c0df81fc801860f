"""Pure text work: normalising and classifying messages, addresses, dates, command words, masking
personal data. Imports nothing from bot/, handlers/ or storage/; its vocabularies are in catalogue/."""

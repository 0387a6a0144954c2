"""Everything a person sees: the Textual screens, the plain prompts and the command line."""

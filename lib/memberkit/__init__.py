"""memberkit: member analytics workbook and report kit."""
__version__ = "0.1.0"

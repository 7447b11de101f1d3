"""Screening runs: rules evaluated as of a date over every linked child, frozen and stored."""

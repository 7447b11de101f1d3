"""Linkage (名寄せ): one person per child across all departments."""

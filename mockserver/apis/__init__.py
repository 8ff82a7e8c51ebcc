"""One subpackage per vendor API; each exposes an `API` object (an `ApiDefinition`)."""

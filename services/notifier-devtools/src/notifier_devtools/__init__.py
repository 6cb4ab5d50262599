"""The notifier's development and test tools, kept out of its runtime package: an SMTP
sink, a webhook receiver that verifies signatures, and the fake twins of its channels."""

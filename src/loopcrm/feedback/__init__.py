"""The voice of the customer: surveys, invitations, answers, unsolicited feedback and text analysis."""

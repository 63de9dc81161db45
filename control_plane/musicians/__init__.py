"""Musicians (profiles, availability), projects and the booking requests between them."""

"""Operations (contact attempts), callbacks, history and statistics of outbound campaigns."""

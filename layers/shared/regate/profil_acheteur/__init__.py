"""Profils d'acheteur: the buyers' contract platforms (Atexo « salle des marchés » first) and the capture of
their DECP exports into the raw bucket.

Named for what the law calls these platforms (*profil d'acheteur*, code de la commande publique R2132-3), as
``pastell/`` is named for the system it reads; the buyers themselves are configuration, not a package.
"""

"""The act domain: the ``Acte`` model, its dates, the ARActe acknowledgement, the ACTES nomenclature."""

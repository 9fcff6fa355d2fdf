"""Argument checks shared by the heads."""
from typing import Optional, Sequence


def check_decoder_type(owner: str, decoder: Optional[dict],
                       codec_types: Sequence[str]) -> None:
    """Raise a ``ValueError`` unless ``decoder`` is None or a config of one
    of ``codec_types``.

    Args:
        owner (str): The head's name, for the message.
        decoder (dict, optional): The head's ``decoder`` config.
        codec_types (Sequence[str]): Accepted codec ``type`` names.
    """
    if decoder is not None and decoder.get('type') not in codec_types:
        raise ValueError(
            f"{owner} decodes with the {' or '.join(map(repr, codec_types))}"
            f" codec, got decoder type {decoder.get('type')!r}")

"""Values a GAN is composed of (objectives, regularisers), given by instance, name, name with
options, or a Keras serialized config; resolved and refused the same way for each kind."""

import keras


class NamedValue:
    """What objectives and regularisers share: a config of their options (none by default),
    rebuilt from it, equal when of one type and config, shown with their options."""

    name = None

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({options})"


def resolve(identifier, base, table, what):
    """An instance of `base` from `identifier`: an instance, a name of `table`, {"name": ...,
    **options}, or a Keras serialized config (a registered subclass of the user's own)."""
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict) and "name" in identifier and "class_name" not in identifier:
        options = {key: value for key, value in identifier.items() if key != "name"}
        kind = type(resolve(identifier["name"], base, table, what))
        try:
            return kind(**options)
        except TypeError as error:
            raise ValueError(f"{what.capitalize()} {identifier['name']!r} got an unknown option: {error}.") from None
    if isinstance(identifier, str):
        if identifier not in table:
            raise ValueError(f"Unknown {what} {identifier!r}. Valid {what}s: {', '.join(table)}.")
        return table[identifier]()
    if isinstance(identifier, dict):
        value = keras.saving.deserialize_keras_object(identifier)
        if isinstance(value, base):
            return value
    raise ValueError(f"Expected the {what} as a {base.__name__} instance, one of {', '.join(table)}, "
                     f"{{'name': ..., **options}} or a serialized config; got {identifier!r}.")

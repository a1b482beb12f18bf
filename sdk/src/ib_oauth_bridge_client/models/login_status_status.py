from enum import StrEnum


class LoginStatusStatus(StrEnum):
    DONE = "done"
    EXPIRED = "expired"
    FAILED = "failed"
    NEW = "new"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)

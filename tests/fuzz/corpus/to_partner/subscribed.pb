
police.acute@
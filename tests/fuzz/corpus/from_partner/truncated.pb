
police.acute
care
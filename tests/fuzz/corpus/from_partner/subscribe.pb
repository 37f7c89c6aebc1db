
police.acute
care.*@